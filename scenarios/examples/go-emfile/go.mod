module faultline.example/merge

go 1.19
